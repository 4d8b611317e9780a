import LabRandom

/// The OS CSPRNG used for every key, randomizer and short exponent that is not explicitly
/// `insecure`: LabRandom's `SystemRandom` (`getrandom(2)` on Linux, `arc4random_buf` on Apple
/// platforms).
typealias OSRandom = SystemRandom
