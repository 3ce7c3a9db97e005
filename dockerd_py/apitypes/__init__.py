"""Docker API types, each declared once (model.py says how): the container types,
the network endpoint types. Validation, defaults and marshalling derive from them."""
