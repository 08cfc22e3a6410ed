"""Checks an exported ONNX file and runs it in ONNX Runtime, for the shapeflow-onnx tests.

Usage: python3 run_onnx.py REQUEST.json
REQUEST: {"model": path, "inputs": {name: {"shape": [...], "data": [...], "dtype": "float32"}}}
Prints: {"checker": "ok", "outputs": [{"name": ..., "shape": [...], "data": [...]}, ...]}
The onnx checker runs with full_check (shape inference included); any failure exits non-zero
with the error on stderr.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main():
    with open(sys.argv[1]) as f:
        req = json.load(f)
    model = onnx.load(req["model"])
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(req["model"], providers=["CPUExecutionProvider"])
    feeds = {
        name: np.asarray(v["data"], dtype=v.get("dtype", "float32")).reshape(v["shape"])
        for name, v in req["inputs"].items()
    }
    results = session.run(None, feeds)
    outputs = [
        {"name": o.name, "shape": list(r.shape), "data": r.astype(np.float64).ravel().tolist()}
        for o, r in zip(session.get_outputs(), results)
    ]
    print(json.dumps({"checker": "ok", "opset": model.opset_import[0].version, "outputs": outputs}))


if __name__ == "__main__":
    main()
