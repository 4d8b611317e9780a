// Placeholder: replaced by the LabRandom implementation.
