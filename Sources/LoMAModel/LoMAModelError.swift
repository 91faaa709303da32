import LoMATensorIO

/// The engine's errors: the tensor-I/O module's type under the engine's name. A memory pass
/// fails for the same reasons a KV file or a checkpoint shard does (the client's input, the
/// operator's checkpoint, the file system), and its callers map all of them to a status the
/// same way, so the engine adds no type of its own (see `TensorIOError`).
public typealias LoMAModelError = TensorIOError
