// Checks the test hub against the official JS client (@huggingface/hub):
//   node check.mjs <hub url> <fixtures dir>
// (a) lists hfm-test/many-files recursively (the client follows the Link pagination) and compares the
//     file count and oids with the manifest; (b) downloads a regular file and the LFS model.safetensors of
//     hfm-test/tiny-model, and the gated weights with a token, and compares their sha256 with the manifest.
// Prints PASS/FAIL per check; exits 1 on any failure.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { downloadFile, listFiles } from "@huggingface/hub";

const [hubUrl, fixturesDir] = process.argv.slice(2);
if (!hubUrl || !fixturesDir) {
  console.error("usage: node check.mjs <hub url> <fixtures dir>");
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(fixturesDir, "manifest.json"), "utf8"));

function filesAt(key) {
  const repo = manifest.repos[key];
  return repo.commits[repo.branches[repo.default_branch]].files;
}

let failures = 0;
function report(ok, name, detail) {
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failures++;
}

async function check(name, fn) {
  try {
    await fn();
  } catch (err) {
    report(false, name, err?.stack ?? String(err));
  }
}

await check("listFiles many-files recursive", async () => {
  const expected = filesAt("models/hfm-test/many-files");
  let files = 0, dirs = 0, mismatched = 0;
  for await (const entry of listFiles({ repo: "hfm-test/many-files", recursive: true, hubUrl })) {
    if (entry.type === "file") {
      files++;
      if (expected[entry.path]?.oid !== entry.oid) mismatched++;
    } else {
      dirs++;
    }
  }
  const want = Object.keys(expected).length;
  report(files === want && mismatched === 0, "listFiles many-files recursive",
         `${files} files (want ${want}), ${dirs} directories, ${mismatched} oid mismatches`);
});

async function download(name, params, key) {
  await check(name, async () => {
    const f = filesAt(key)[params.path];
    const blob = await downloadFile({ hubUrl, ...params });
    if (!blob) throw new Error("downloadFile returned null (EntryNotFound)");
    const bytes = Buffer.from(await blob.arrayBuffer());
    const sha = createHash("sha256").update(bytes).digest("hex");
    const onDisk = createHash("sha256").update(readFileSync(join(fixturesDir, "blobs", f.blob))).digest("hex");
    report(sha === f.sha256 && sha === onDisk && bytes.length === f.size, name,
           `${bytes.length} bytes, sha256 ${sha} (want ${f.sha256}, ${f.size} bytes)`);
  });
}

await download("downloadFile tiny-model config.json (regular)",
               { repo: "hfm-test/tiny-model", path: "config.json" }, "models/hfm-test/tiny-model");
await download("downloadFile tiny-model model.safetensors (LFS, via CDN)",
               { repo: "hfm-test/tiny-model", path: "model.safetensors" }, "models/hfm-test/tiny-model");
await download("downloadFile tiny-dataset data/train.csv (dataset, branch master)",
               { repo: { type: "dataset", name: "hfm-test/tiny-dataset" }, path: "data/train.csv",
                 revision: "master" }, "datasets/hfm-test/tiny-dataset");
await download("downloadFile gated-model weights.safetensors (token)",
               { repo: "hfm-test/gated-model", path: "weights.safetensors", accessToken: "hf_test_valid_token" },
               "models/hfm-test/gated-model");

await check("downloadFile missing file is null", async () => {
  const blob = await downloadFile({ repo: "hfm-test/tiny-model", path: "no-such-file", hubUrl });
  report(blob === null, "downloadFile missing file is null");
});

console.log(failures ? `FAIL (${failures} failed)` : "PASS (all checks)");
process.exit(failures ? 1 : 0);
