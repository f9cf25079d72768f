"""HTTP engines' building blocks: one transport, and the protocols spoken over it.

- `transport`: pooled httpx clients (sync and async), timeouts, retries, the wait while a
  server loads its model, typed errors, Server-Sent Events; exchanges are written once as
  sans-IO flows, driven by a blocking or an asyncio driver.
- `completion`: llama.cpp's native `/completion` protocol.
- `openai`: the OpenAI-compatible `/v1/chat/completions` protocol.
- `embeddings`: `/v1/embeddings`, with llama.cpp's `/embedding` as fallback.
- `server`: what a llama.cpp server says about itself (`/props`, `/tokenize`).

An engine (`engines.llamafile.LlamafileEngine`) composes them for one kind of server.
"""
