"""Built-in pipeline definitions (TOML), installed as ``summarizer.pipelines``."""
