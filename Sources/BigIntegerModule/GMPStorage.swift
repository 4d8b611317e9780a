internal import CGMP

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Overwrites `count` bytes at `pointer` with zeros in a way the optimizer may not remove.
@inline(never)
func secureZero(_ pointer: UnsafeMutableRawPointer, _ count: Int) {
    guard count > 0 else { return }
    #if canImport(Darwin)
    _ = memset_s(pointer, count, 0, count)
    #else
    explicit_bzero(pointer, count)
    #endif
}

/// GMP's allocation hooks, installed once before the first `mpz_t` is made: every block GMP
/// frees or moves (on growth) is zeroed first, so no limb of a secret outlives its integer.
///
/// GMP's scratch space below 64 KiB lives on the stack (`TMP_ALLOC`) and is not covered.
enum GMPMemory {
    static let installed: Bool = {
        __gmp_set_memory_functions(
            { size in malloc(size) },
            { old, oldSize, newSize in
                guard let new = malloc(newSize) else { return nil }
                if let old {
                    memcpy(new, old, min(oldSize, newSize))
                    secureZero(old, oldSize)
                    free(old)
                }
                return new
            },
            { block, size in
                guard let block else { return }
                secureZero(block, size)
                free(block)
            })
        return true
    }()
}

/// The heap home of one `mpz_t`, shared by copies of a `BigInteger` until one of them mutates.
///
/// Its limbs are zeroed before `mpz_clear` when the last copy goes away.
final class GMPStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<__mpz_struct>

    init() {
        _ = GMPMemory.installed
        pointer = .allocate(capacity: 1)
        __gmpz_init(pointer)
    }

    init(copying other: GMPStorage) {
        _ = GMPMemory.installed
        pointer = .allocate(capacity: 1)
        __gmpz_init_set(pointer, other.pointer)
    }

    deinit {
        let limbs = Int(pointer.pointee._mp_alloc)
        if let data = pointer.pointee._mp_d, limbs > 0 {
            secureZero(UnsafeMutableRawPointer(data), limbs * MemoryLayout<mp_limb_t>.stride)
        }
        __gmpz_clear(pointer)
        pointer.deallocate()
    }
}
