// Placeholder: replaced by the NeuralNetworks implementation.
