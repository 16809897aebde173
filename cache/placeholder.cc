// placeholder: replaced by the cache layer
