/// The shapes of TOML's four date-time kinds (offset date-time, local date-time, local date,
/// local time), checked field by field so that a number-like typo is not taken for a date.
enum TOMLDateTime {
    /// `YYYY-MM-DD`, `HH:MM:SS[.fraction]`, or a date and a time joined by `T`, `t` or a space,
    /// optionally followed by `Z`, `z` or `±HH:MM`.
    static func isValid(_ token: [Unicode.Scalar]) -> Bool {
        if isLocalDate(token) { return true }
        if isLocalTime(token[...]) { return true }
        guard token.count > 11, ["T", "t", " "].contains(token[10]), isLocalDate(Array(token[..<10])) else { return false }
        var time = token[11...]
        if time.last == "Z" || time.last == "z" {
            time = time.dropLast()
        } else if time.count > 6, let sign = time.dropLast(5).last, sign == "+" || sign == "-" {
            let offset = time.suffix(5)
            guard isTwoDigits(offset.prefix(2), upTo: 23), offset.dropFirst(2).first == ":",
                  isTwoDigits(offset.suffix(2), upTo: 59) else { return false }
            time = time.dropLast(6)
        }
        return isLocalTime(time)
    }

    /// `YYYY-MM-DD`, a day that exists (RFC 3339, which TOML dates follow: no February 30).
    static func isLocalDate(_ token: [Unicode.Scalar]) -> Bool {
        guard token.count == 10, token[4] == "-", token[7] == "-",
              token[..<4].allSatisfy({ ("0"..."9").contains($0) }),
              isTwoDigits(token[5..<7], upTo: 12), isTwoDigits(token[8..<10], upTo: 31) else { return false }
        let number = { (digits: ArraySlice<Unicode.Scalar>) in digits.reduce(0) { $0 * 10 + Int($1.value - 48) } }
        let (year, month, day) = (number(token[..<4]), number(token[5..<7]), number(token[8..<10]))
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return month >= 1 && day >= 1 && day <= days[month - 1]
    }

    /// `HH:MM:SS` with an optional fraction (TOML 1.0 requires the seconds).
    static func isLocalTime(_ token: ArraySlice<Unicode.Scalar>) -> Bool {
        let start = token.startIndex
        guard token.count >= 8, token[start + 2] == ":", token[start + 5] == ":",
              isTwoDigits(token[start..<(start + 2)], upTo: 23), isTwoDigits(token[(start + 3)..<(start + 5)], upTo: 59),
              isTwoDigits(token[(start + 6)..<(start + 8)], upTo: 60) else { return false }
        let fraction = token[(start + 8)...]
        if fraction.isEmpty { return true }
        return fraction.first == "." && fraction.count > 1 && fraction.dropFirst().allSatisfy { ("0"..."9").contains($0) }
    }

    private static func isTwoDigits(_ digits: ArraySlice<Unicode.Scalar>, upTo maximum: Int) -> Bool {
        guard digits.count == 2, digits.allSatisfy({ ("0"..."9").contains($0) }) else { return false }
        let value = digits.reduce(0) { $0 * 10 + Int($1.value - 48) }
        return value <= maximum
    }
}
