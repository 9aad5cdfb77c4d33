// placeholder: filled by a later commit
