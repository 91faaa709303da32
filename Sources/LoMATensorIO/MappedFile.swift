import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Checkpoints are gigabytes: mapping lets the loader
/// touch only the tensors it needs and hand pages back (`release`) once they are converted, so
/// peak memory stays near the converted weights instead of weights plus file.
final class MappedFile: @unchecked Sendable {
    let url: URL
    let bytes: UnsafeRawBufferPointer

    init(url: URL, errorKind: TensorIOError.Kind) throws {
        self.url = url
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw TensorIOError(errorKind, "cannot open \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw TensorIOError(errorKind, "cannot stat \(url.path): \(String(cString: strerror(errno)))")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw TensorIOError(errorKind, "cannot map \(url.path): \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops the pages of `range` from this process's resident set; they are re-read from the
    /// file if touched again.
    func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound / page) * page
        let end = min(((range.upperBound + page - 1) / page) * page, bytes.count)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
