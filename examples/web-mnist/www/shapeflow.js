// The JavaScript side of web-mnist: loads the WebAssembly module and wraps its C ABI. Every
// error of the Rust side is thrown as an Error with the same message.

export class Net {
  constructor(instance) {
    this.wasm = instance.exports;
  }

  // Fetches and instantiates the module at `url` (web_mnist.wasm).
  static async load(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const { instance } = await WebAssembly.instantiate(await response.arrayBuffer(), {});
    return new Net(instance);
  }

  // The message of the last error, as the Rust side wrote it.
  lastError() {
    const bytes = new Uint8Array(this.wasm.memory.buffer, this.wasm.sf_error_ptr(), this.wasm.sf_error_len());
    return new TextDecoder().decode(bytes);
  }

  // Copies `bytes` (a Uint8Array or Float32Array) into a buffer of the module, runs `f` on it.
  withBuffer(bytes, f) {
    const len = bytes.byteLength;
    const ptr = this.wasm.sf_alloc(len);
    try {
      new Uint8Array(this.wasm.memory.buffer, ptr, len).set(new Uint8Array(bytes.buffer, bytes.byteOffset, len));
      return f(ptr, len);
    } finally {
      this.wasm.sf_free(ptr, len);
    }
  }

  // Loads a checkpoint (the bytes of mnist-cnn's model.safetensors); throws on a bad file.
  loadCheckpoint(bytes) {
    const status = this.withBuffer(bytes, (ptr, len) => this.wasm.sf_load(ptr, len));
    if (status !== 0) throw new Error(this.lastError());
  }

  // The logits (10 per image) of the standardised images in `pixels` (784 per image).
  predict(pixels) {
    const status = this.withBuffer(pixels, (ptr, len) => this.wasm.sf_predict(ptr, len / 4));
    if (status !== 0) throw new Error(this.lastError());
    const out = new Float32Array(this.wasm.memory.buffer, this.wasm.sf_output_ptr(), this.wasm.sf_output_len());
    return Float32Array.from(out);
  }
}
