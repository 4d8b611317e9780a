"""The benchmark's Flower app: FedAvg of a NumPy MLP on MNIST (see ../../README.md)."""
