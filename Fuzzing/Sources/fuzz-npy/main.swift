// libFuzzer runs fuzzNpy (see FuzzNpy.swift).
import FuzzSupport

runFuzzer(fuzzNpy)
