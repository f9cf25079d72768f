"""Runtime-agnostic pieces shared by every face: errors, timings, GGUF headers, the model cache."""
