"""The assumption map: where the textbook's form of backpropagation holds, and where it breaks."""
