// Clang's thread-safety annotations (-Wthread-safety), so that which mutex
// guards a member, and which lock a function needs, is checked by the
// compiler rather than stated in a comment. Other compilers ignore them.
// scripts/thread_safety.sh builds the tree with clang and -Werror.
#pragma once

#if defined(__clang__)
#define HFM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define HFM_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) HFM_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY HFM_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) HFM_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) HFM_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) HFM_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) HFM_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) HFM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) HFM_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) HFM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) HFM_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) HFM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) HFM_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) HFM_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) HFM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) HFM_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) HFM_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS HFM_THREAD_ANNOTATION(no_thread_safety_analysis)
