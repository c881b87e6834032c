"""Provider-neutral LLM layer: the LLMClient protocol, SDK adapters, retries and the factory.

Importing this package imports no SDK; `factory.make_client` imports the one a provider needs.
"""
