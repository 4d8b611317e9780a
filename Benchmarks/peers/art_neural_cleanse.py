"""ART's Neural Cleanse over every MNIST label on a BadNets-backdoored Keras CNN, timed.

The peer side of Benchmarks/backdoor/run-nc-bench.sh. The victim has the architecture of
PrivacyLab's side (conv5x5x16 same - ReLU - maxpool 2 - conv5x5x32 same - ReLU - maxpool 2 -
dense 128 - ReLU - dense 10, softmax), trained with Adam (lr 0.001, batch 64) on MNIST where a 4x4
checkerboard at the bottom-right corner (1 px margin) relabels poisoned samples to 0, poison
making up 10% of class 0. ART's NeuralCleanse (KerasNeuralCleanse) then runs `outlier_detection`
over the 10 labels with its defaults except `steps` and `norm=1` (the paper's L1 mask penalty,
PrivacyLab's objective), on the first N clean test images. Prints one JSON object on stdout.

    python art_neural_cleanse.py --data-dir DATA --steps 20 --clean 1000 [--threads 1] [--model FILE.keras]
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.environ.get("PRIVACY_LAB_DATA", "/work/shared/data"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--clean", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--stock-reset", action="store_true",
                        help="keep ART 1.20.1's reset(), which under Keras 3 zeroes Adam's learning rate (see README)")
    args = parser.parse_args()

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    from art.estimators.classification import KerasClassifier
    from art.defences.transformer.poisoning import NeuralCleanse

    root = os.path.join(args.data_dir, "mnist")
    x_train = read_idx(os.path.join(root, "train-images-idx3-ubyte.gz")).astype(np.float32)[..., None] / 255.0
    y_train = read_idx(os.path.join(root, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    x_test = read_idx(os.path.join(root, "t10k-images-idx3-ubyte.gz")).astype(np.float32)[..., None] / 255.0
    y_test = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)

    def stamp(x):
        x = x.copy()
        for r in range(4):
            for c in range(4):
                x[:, 23 + r, 23 + c, :] = 1.0 if (r + c) % 2 == 0 else 0.0
        return x

    rng = np.random.default_rng(7)
    target = 0
    n_target = int((y_train == target).sum())
    p = int(round(0.1 * n_target / 0.9))
    sources = np.flatnonzero(y_train != target)
    rows = np.sort(rng.choice(sources, size=p, replace=False))
    x_poison, y_poison = x_train.copy(), y_train.copy()
    x_poison[rows] = stamp(x_train[rows])
    y_poison[rows] = target

    keras.utils.set_random_seed(8)
    train_seconds = 0.0
    if args.model and os.path.exists(args.model):
        model = keras.models.load_model(args.model)
    else:
        model = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(16, 5, padding="same", activation="relu"), keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 5, padding="same", activation="relu"), keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(0.001), loss="categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x_poison, keras.utils.to_categorical(y_poison, 10), batch_size=64, epochs=args.epochs, verbose=0)
        train_seconds = time.perf_counter() - start
        if args.model:
            model.save(args.model)

    evaluation_x, evaluation_y = x_test[args.clean:], y_test[args.clean:]
    clean_accuracy = float((model.predict(evaluation_x, verbose=0).argmax(1) == evaluation_y).mean())
    others = evaluation_y != target
    asr = float((model.predict(stamp(evaluation_x[others]), verbose=0).argmax(1) == target).mean())

    classifier = KerasClassifier(model=model, clip_values=(0.0, 1.0), use_logits=False)
    defence = NeuralCleanse(classifier)
    cleanse = defence(classifier, steps=args.steps, norm=1, batch_size=32)
    if not args.stock_reset:
        # ART 1.20.1's KerasNeuralCleanse.reset() zeroes every variable of the optimizer, and a
        # Keras 3 optimizer keeps its learning rate among them: after the first reset the search
        # never moves and every label's mask stays at its random start. Restore the learning
        # rate after each reset (the moments and the step count are still cleared, as intended).
        stock_reset = cleanse.reset

        def reset():
            stock_reset()
            cleanse.opt.learning_rate.assign(cleanse.learning_rate)

        cleanse.reset = reset
    x_val = x_test[: args.clean]
    y_val = keras.utils.to_categorical(y_test[: args.clean], 10)

    # Time each label's search as outlier_detection runs it (ART prints each batch's success
    # to stdout: keep that away from our JSON).
    per_label, norms = [], []
    original = cleanse.generate_backdoor

    def timed(x, y, y_target):
        start = time.perf_counter()
        result = original(x, y, y_target)
        per_label.append(time.perf_counter() - start)
        norms.append(float(np.sum(np.abs(result[0]))))      # outlier_detection's own norm: mask, pattern = ...
        print(f"label {int(np.argmax(y_target))}: L1 {norms[-1]:.3f}, {per_label[-1]:.2f} s", file=sys.stderr, flush=True)
        return result

    cleanse.generate_backdoor = timed
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")
    start = time.perf_counter()
    flagged = cleanse.outlier_detection(x_val, y_val)
    total = time.perf_counter() - start
    sys.stdout = real_stdout
    flagged_labels = [int(label) for label, _, _ in flagged]

    # The anomaly index ART computes, for every label (ART returns only the flagged ones).
    median = float(np.median(norms))
    mad = 1.4826 * float(np.median(np.abs(np.array(norms) - median)))
    indices = [abs(n - median) / mad if mad > 0 else 0.0 for n in norms]
    result = {
        "tool": "art", "art_version": __import__("art").__version__, "tensorflow": tf.__version__,
        "steps": args.steps, "clean_images": args.clean, "batch_size": 32, "threads": args.threads,
        "stock_reset": args.stock_reset, "train_seconds": train_seconds, "neural_cleanse_seconds": total, "per_label_seconds": per_label,
        "clean_accuracy": clean_accuracy, "attack_success_rate": asr,
        "flagged_labels": flagged_labels, "target": target, "mask_l1_norms": norms, "anomaly_indices": indices,
        "target_anomaly_index": indices[target],
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
