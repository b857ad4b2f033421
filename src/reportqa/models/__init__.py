"""The model runtime: ONNX graphs built from safetensors weights, shared by the encoder and the reader."""
