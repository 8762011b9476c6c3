"""The config engine: env files, Jinja templates, located YAML, interpolation, merge,
validation (schema, semantics, production policy), cache and the pipeline that writes the
one validated compose file.  Imports nothing of runtime, watch, integrations or cli."""
