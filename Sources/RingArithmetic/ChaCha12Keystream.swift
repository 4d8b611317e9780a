internal import CKernels

/// The ChaCha12 keystream in bulk: the engine of the MPC masks and shares (`MaskGenerator`).
///
/// The RFC 8439 block function reduced to 12 rounds, with a 256-bit key, a 64-bit block counter
/// in state words 12–13 and words 14–15 zero, computed sixteen blocks at a time by a C kernel
/// cloned for AVX-512, AVX2 and the baseline (chosen when the library loads; identical output).
/// A *group* is 16 consecutive blocks, 1024 bytes, 128 words: state word `w` (0–15) of the 16
/// blocks, in block order, fills 32-bit halves `16w …  16w + 15` of the group (little-endian
/// pairs of halves form the 64-bit words). This is a fixed permutation of the standard keystream
/// order, so every property of ChaCha12 as a PRF carries over.
///
/// - Complexity: about 0.3 cycles per byte with AVX-512 (16 blocks per vector), against 1–2 for
///   four-lane SIMD.
/// - Reference: D. J. Bernstein, "ChaCha, a variant of Salsa20" (2008); RFC 8439.
public enum ChaCha12Keystream {
    /// 64-bit words per group of 16 blocks.
    public static let groupWords = 128

    /// Fills `out` (a whole number of groups) with the keystream of `key` starting at block
    /// `counter`; the next call should pass `counter + 16 · out.count / groupWords`.
    public static func fill(key: SIMD8<UInt32>, counter: UInt64, into out: UnsafeMutableBufferPointer<UInt64>) {
        precondition(out.count % groupWords == 0, "ChaCha12Keystream: \(out.count) words are not whole groups")
        guard out.count > 0 else { return }
        withUnsafeBytes(of: key) { raw in
            pl_chacha12_groups(raw.baseAddress!.assumingMemoryBound(to: UInt32.self), counter,
                               out.baseAddress!, out.count / groupWords)
        }
    }
}
