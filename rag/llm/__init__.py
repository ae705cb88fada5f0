"""Language-model backends behind one ``LLM`` protocol: ``base`` (protocol, ``Messages``,
deadline), ``factory`` (``make_llm``), ``local`` (llama.cpp), ``openai`` (OpenAI-compatible
API), ``fake`` (tests) and ``model_file`` (assembles the packaged GGUF). No prompts here."""
