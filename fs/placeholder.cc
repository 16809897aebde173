// placeholder: replaced by the fs layer
