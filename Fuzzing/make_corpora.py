#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Fuzzing/corpus/<target>/.

Every seed is built here from the formats' definitions (Python's standard library only) or
taken from the project's own example specs, so no data file is copied in. The output is
deterministic: running the script again rewrites the same bytes. Targets that read a mode byte
first (see each target's source) get seeds with that byte in front.
"""
import base64
import gzip
import io
import json
import pathlib
import shutil
import struct
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent
REPO = ROOT.parent
CORPUS = ROOT / "corpus"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / name).write_bytes(data)


def gz(data):
    return gzip.compress(data, mtime=0)


# -- specs and --set ---------------------------------------------------------------------------

def specs():
    for path in ["experiments/quickstart.yaml", "experiments/train/digits-mlp.yaml", "experiments/dp/quick-dp.yaml",
                 "experiments/train/orl-image-folder.yaml"]:
        write("fuzz-spec", pathlib.Path(path).name, (REPO / path).read_bytes())
    write("fuzz-spec", "anchor.yaml", "version: 1\nname: a\nkind: train\nbase: &b {epochs: 1}\nmodel: *b\n")
    write("fuzz-spec", "sweep.yaml", "version: 1\nname: s\nkind: train\ndata: {dataset: iris}\n"
          "model: {architecture: mlp, hidden: [4]}\nsweep:\n  model.epochs: [1, 2]\n  seed: [1, 2]\n")
    write("fuzz-spec", "flow.yaml", "{version: 1, name: f, kind: audit, data: {dataset: synthetic-gaussian, samples: 100}}\n")
    sets = [
        (0, ["model.epochs=3", "attack.members=10"]),
        (0, ["data.samples=100000", "model.hidden=[1000000, 1000000]"]),
        (1, ["model.hidden=[64,64]", "data.test_fraction=0.5"]),
        (1, ["model.epochs=1"]),
        (2, ["privacy.delta=1e-9", "privacy.noise=insecure-reproducible"]),
        (2, ["privacy.max_grad_norm=-1", "name=x"]),
        (0, ["seed=18446744073709551615", "model.batch_size=0"]),
    ]
    for k, (base, overrides) in enumerate(sets):
        write("fuzz-set", f"set-{k}", bytes([base]) + "\n".join(overrides).encode())


# -- IDX ---------------------------------------------------------------------------------------

def idx(dimensions, values):
    return bytes([0, 0, 8, len(dimensions)]) + b"".join(struct.pack(">I", d) for d in dimensions) + bytes(values)


def idx_seeds():
    labels = idx([3], [0, 1, 9])
    images = idx([3, 2, 2], range(12))
    write("fuzz-idx", "any", bytes([0]) + idx([2, 3], range(6)))
    write("fuzz-idx", "labels", bytes([1]) + labels)
    write("fuzz-idx", "images", bytes([2]) + images)
    write("fuzz-idx", "images-gz", bytes([2]) + gz(images))
    for name, (img, lab) in {"pair": (images, labels), "pair-gz": (gz(images), gz(labels))}.items():
        write("fuzz-idx", name, bytes([3]) + struct.pack("<H", len(lab)) + lab + img)


# -- PGM ---------------------------------------------------------------------------------------

def pgm_seeds():
    write("fuzz-pgm", "p5", b"P5\n# a comment\n3 2\n255\n" + bytes([0, 10, 20, 30, 40, 255]))
    write("fuzz-pgm", "p5-16bit", b"P5 2 2 65535\n" + struct.pack(">4H", 0, 1, 256, 65535))
    write("fuzz-pgm", "p2", b"P2\n3 2\n15\n0 1 2\n3 14 15\n")


# -- CSV ---------------------------------------------------------------------------------------

def csv_seeds():
    write("fuzz-csv", "numeric", "label\nx,y,label\n1,2.5,0\n3,-4e2,1\n5,6,1\n")
    write("fuzz-csv", "categorical", "income;colour;id\nid,age,colour,income\n1,39,red,<=50K\n2,50,\"blue, dark\",>50K\n"
          "3,38,red,<=50K\n\f id,age,colour,income\n4,20,green,>50K\n")
    write("fuzz-csv", "quoted", "y\r\n\ufeffa,\"b\"\"q\",y\r\n1,\"2\",a\r\n\r\n3,4,b\r\n")
    write("fuzz-csv", "integer-labels", "c;;b\na,b,c\n1,x,01\n2,y,+1\n3,z,-7\n")
    # The numeric tables of the known datasets (mode bytes 1, 2, 3; see the target).
    write("fuzz-csv", "sklearn-table", b"\x01" + b"3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n6.2,2.9,1\n")
    write("fuzz-csv", "digits", b"\x02" + (",".join(str(k % 17) for k in range(64)) + ",7\n").encode() * 2)
    write("fuzz-csv", "location", b"\x03" + ('"12",' + ",".join(str(k % 2) for k in range(446)) + "\n").encode())


# -- NumPy -------------------------------------------------------------------------------------

def npy(descr, shape, payload, fortran=False, version=1):
    shape_text = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    if len(shape) > 1:
        shape_text = "(" + ", ".join(str(d) for d in shape) + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape_text)
    prefix = 10 if version == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    length = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + payload


def npy_seeds():
    arrays = {
        "f4": npy("<f4", [2, 3], struct.pack("<6f", 0, 1, -2.5, 3e38, 1e-45, 7)),
        "f8-fortran": npy("<f8", [2, 2], struct.pack("<4d", 1, 2, 3, 4), fortran=True),
        "i8-big": npy(">i8", [3], struct.pack(">3q", -1, 0, 2**62)),
        "u8": npy("|u1", [4], bytes([0, 1, 2, 255])),
        "bool": npy("|b1", [2, 2], bytes([0, 1, 1, 0])),
        "f2-v2": npy("<f2", [2], struct.pack("<2e", 1.5, -0.0), version=2),
        "scalar": npy("<u8", [], struct.pack("<Q", 2**64 - 1)),
        "empty": npy("<i4", [0, 5], b""),
    }
    for name, data in arrays.items():
        write("fuzz-npy", name, bytes([0]) + data)
    write("fuzz-npy", "header", bytes([1]) + arrays["f4"][:128])
    for compression, name in [(zipfile.ZIP_STORED, "npz"), (zipfile.ZIP_DEFLATED, "npz-deflated")]:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for member in ["f4", "u8"]:
                info = zipfile.ZipInfo(member + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = compression
                archive.writestr(info, arrays[member])
        write("fuzz-npy", name, bytes([2]) + buffer.getvalue())


# -- safetensors -------------------------------------------------------------------------------

def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def floats(n, start=0.0):
    return struct.pack(f"<{n}f", *[start + 0.125 * k for k in range(n)])


def safetensors_seeds():
    write("fuzz-safetensors", "mixed", bytes([0]) + safetensors([
        ("a", "F32", [2, 2], floats(4)), ("b", "F16", [3], struct.pack("<3e", 1, 2, 3)),
        ("c", "BF16", [1], b"\x80\x3f"), ("d", "F64", [1], struct.pack("<d", 1e300)),
        ("e", "I64", [], struct.pack("<q", 5)), ("f", "U8", [2], b"\x01\x02")], metadata={"format": "pt"}))
    # The fixed architecture of the target: Conv2d(1, 2, 3), BatchNorm2d(2), ReLU, Flatten, Linear(8, 3).
    state = [("0.weight", "F32", [2, 1, 3, 3], floats(18, -1)), ("0.bias", "F32", [2], floats(2)),
             ("1.weight", "F32", [2], floats(2, 1)), ("1.bias", "F32", [2], floats(2)),
             ("1.running_mean", "F32", [2], floats(2)), ("1.running_var", "F32", [2], floats(2, 1)),
             ("1.num_batches_tracked", "I64", [], struct.pack("<q", 3)),
             ("4.weight", "F32", [3, 8], floats(24, -1)), ("4.bias", "F32", [3], floats(3))]
    write("fuzz-safetensors", "state-dict", bytes([1]) + safetensors(state))
    write("fuzz-safetensors", "state-dict-no-count", bytes([1]) + safetensors([t for t in state if "num_batches" not in t[0]]))
    layer_lists = {
        "mlp": {"input_shape": [6], "layers": [{"type": "Linear", "in_features": 6, "out_features": 4},
                                               {"type": "BatchNorm1d", "num_features": 4}, {"type": "ReLU"},
                                               {"type": "Dropout", "p": 0.3}, {"type": "Linear", "in_features": 4,
                                                                               "out_features": 2, "bias": False}]},
        "cnn": {"input_shape": [2, 8, 8], "key_prefix": "net.",
                "layers": [{"type": "Conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": [3, 2], "stride": [2, 1],
                            "padding": [1, 0]}, {"type": "BatchNorm2d", "num_features": 3}, {"type": "Tanh"},
                           {"type": "MaxPool2d", "kernel_size": 2}, {"type": "AvgPool2d", "kernel_size": 1, "stride": 1},
                           {"type": "Sigmoid"}, {"type": "Flatten"}, {"type": "Linear", "in_features": 18, "out_features": 2}]},
    }
    architecture = {"inputShape": [4], "layers": [{"dense": {"inputs": 4, "outputs": 3}}, {"relu": {}},
                                                  {"dense": {"inputs": 3, "outputs": 2}}]}
    write("fuzz-safetensors", "checkpoint", bytes([3]) + safetensors([
        ("layers.0.bias", "F32", [3], floats(3)), ("layers.0.weight", "F32", [3, 4], floats(12, -1)),
        ("layers.2.bias", "F32", [2], floats(2)), ("layers.2.weight", "F32", [2, 3], floats(6, -0.5))],
        metadata={"privacy-lab.format": "1", "privacy-lab.architecture": json.dumps(architecture)}))
    for name, value in layer_lists.items():
        write("fuzz-safetensors", "layers-" + name, bytes([2]) + json.dumps(value).encode())


# -- python-paillier JSON ----------------------------------------------------------------------

def b64(n):
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode().rstrip("=")


def phe_seeds():
    p, q = 2**89 - 1, 2**107 - 1   # the fuzz target's fixed key
    n = p * q
    public = {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": b64(n), "kid": "fuzz"}
    write("fuzz-phe", "public", bytes([0]) + json.dumps(public).encode())
    write("fuzz-phe", "public-small", bytes([0]) + json.dumps({**public, "n": b64(61 * 53), "kid": None}).encode())
    private = {"kty": "DAJ", "key_ops": ["decrypt"], "p": b64(p), "q": b64(q), "pub": public, "kid": "fuzz"}
    write("fuzz-phe", "private", bytes([1]) + json.dumps(private).encode())
    n2 = n * n
    for k, (m, e, r) in enumerate([(5, 0, 3), (n - 7, -2, 12345), (2**40, 10, 2**80 + 1)]):
        c = (1 + m * n) * pow(r, n, n2) % n2
        write("fuzz-phe", f"number-{k}", bytes([2]) + json.dumps({"v": str(c), "e": e}).encode())


# -- notebooks ---------------------------------------------------------------------------------

def notebook_seeds():
    block = (REPO / "experiments/quickstart.yaml").read_text()
    write("fuzz-notebook", "plain", "# A notebook\n\nText.\n\n```privacy-lab\n" + block + "```\n")
    write("fuzz-notebook", "outputs", "```privacy-lab metrics=auc,tpr@*\n" + block + "```\n\n<!-- privacy-lab:output -->\n"
          "| metric | value |\n<!-- privacy-lab:end -->\n\n```privacy-lab\nversion: 1\nname: b\nkind: train\n```\n")


# -- results browser requests -------------------------------------------------------------------

def http_seeds():
    write("fuzz-http", "listing", "GET\n/?kind=membership-inference&name=quick&param=model.epochs%3E%3D10%3B+seed%3D8&metric=lira.auc%3E0.6&columns=*.auc")
    write("fuzz-http", "trial", "GET\n/trial?run=r-20261207-1&index=0&format=csv")
    write("fuzz-http", "compare", "HEAD\n/compare?t=r-1/0&t=r-2/3&plot=metric&metric=lira.auc&parameter=seed&logx=1")
    write("fuzz-http", "hostile", "GET\n/%2e%2e/%zz/..%2f?%C3=%ff&format=html")
    write("fuzz-http", "method", "POST\n/")


# -- served-model requests -------------------------------------------------------------------------

def serve_seeds():
    # Byte 0: authorization (0 none, 1 + 4k the k-th token, 2 the scrape token, 3 raw), byte 1: method
    # (0 GET, 1 POST, 2 HEAD, 3 PUT, 4 raw), byte 2: path (0 predict, 1 model, 2 health, 3 openapi, 4 metrics, 5 raw).
    def seed(name, auth, method, path, body=b"", raw=b""):
        write("fuzz-serve", name, bytes([auth, method, path]) + raw + (body.encode() if isinstance(body, str) else body))

    def prefixed(text):
        data = text.encode()
        return struct.pack("<H", len(data)) + data

    rows = json.dumps({"inputs": [[0.9, 0.1, 0.5, 0.0], [0.0, 0.2, 0.8, 0.0]]})
    seed("predict-full", 1, 1, 0, rows)
    seed("predict-label", 1 + 4, 1, 0, rows)
    seed("predict-watched", 1 + 8, 1, 0, json.dumps({"inputs": [[0.3, 0.3, 0.3, 0.3]]}))
    seed("predict-slow", 1 + 12, 1, 0, json.dumps({"inputs": [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]}))
    seed("predict-small", 1 + 16, 1, 0, rows)
    seed("predict-expired", 1 + 20, 1, 0, rows)
    seed("predict-bad-width", 1, 1, 0, json.dumps({"inputs": [[1, 2, 3]]}))
    seed("predict-huge-number", 1, 1, 0, '{"inputs": [[1e39, 0, 0, 0]]}')
    seed("predict-not-json", 1, 1, 0, '{"inputs": [[1, 2, 3, 4]')
    seed("model", 1, 0, 1)
    seed("metrics", 2, 0, 4)
    seed("metrics-no-token", 0, 0, 4)
    seed("health", 0, 2, 2)
    seed("openapi", 0, 0, 3)
    seed("wrong-method", 1, 3, 0, rows)
    seed("raw-header", 3, 1, 0, rows, raw=prefixed("Bearer plt_" + "00" * 32))
    seed("raw-method-path", 0, 4, 5, raw=prefixed("DELETE") + prefixed("/v1/predict/../metrics?x=%00"))


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    for make in [specs, idx_seeds, pgm_seeds, csv_seeds, npy_seeds, safetensors_seeds, phe_seeds, notebook_seeds, http_seeds, serve_seeds]:
        make()
    for folder in sorted(CORPUS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
