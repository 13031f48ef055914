"""Loading: documents (JSON/YAML with pointer -> line:column) and images. The only place that reads dataset files."""
