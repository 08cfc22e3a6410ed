// The page's own path from pixels to a prediction, shared by the drawing page and its test.

// MNIST's mean and standard deviation, as mnist-cnn standardised its training images.
const MEAN = 0.1307;
const STD = 0.3081;

// Pixel intensities in [0, 1] to the model's input.
export function standardise(pixels) {
  return Float32Array.from(pixels, (p) => (p - MEAN) / STD);
}

export function softmax(logits) {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

// One image's logits, probabilities and predicted class (the first maximum).
export function classify(net, pixels) {
  const logits = net.predict(standardise(pixels));
  const probs = softmax(logits);
  let best = 0;
  for (let c = 1; c < logits.length; c++) if (logits[c] > logits[best]) best = c;
  return { logits: Array.from(logits), probs, digit: best };
}

// A drawing on `canvas` as 28×28 intensities in [0, 1]: the ink's bounding box scaled to 20×20
// and centred by its centre of mass in the 28×28 frame, as MNIST's digits are.
export function pixelsFromCanvas(canvas) {
  const { width, height } = canvas;
  const src = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (src[(y * width + x) * 4 + 3] > 0) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
  const out = new Float32Array(28 * 28);
  if (x1 < 0) return out;
  const side = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const ctx = small.getContext("2d");
  const scale = 20 / side;
  const [w, h] = [(x1 - x0 + 1) * scale, (y1 - y0 + 1) * scale];
  ctx.drawImage(canvas, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (28 - w) / 2, (28 - h) / 2, w, h);
  const img = ctx.getImageData(0, 0, 28, 28).data;
  let [mass, cx, cy] = [0, 0, 0];
  for (let i = 0; i < 784; i++) {
    const v = img[i * 4 + 3] / 255;
    mass += v; cx += v * (i % 28); cy += v * Math.floor(i / 28);
  }
  const [dx, dy] = mass > 0 ? [Math.round(13.5 - cx / mass), Math.round(13.5 - cy / mass)] : [0, 0];
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const [sx, sy] = [x - dx, y - dy];
      if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = img[(sy * 28 + sx) * 4 + 3] / 255;
    }
  return out;
}
