/// The OS CSPRNG used for every key, randomizer and short exponent that is not explicitly
/// `insecure`: `getrandom(2)` on Linux, `arc4random_buf` on Apple platforms.
///
/// A seam: when LabRandom's `SystemRandom` lands it replaces this alias, and nothing else changes.
typealias OSRandom = SystemRandomNumberGenerator
