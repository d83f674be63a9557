import Platform

/// The IMF-fixdate of the current second (`Sun, 29 Nov 2026 02:45:20 GMT`), made
/// once per second.
struct HTTPDate {
    private var second = -1
    private var text = ""
    private let wallSeconds: () -> Int

    init(wallSeconds: @escaping () -> Int = CPUClock.wallWholeSeconds) { self.wallSeconds = wallSeconds }

    mutating func now() -> String {
        let s = wallSeconds()
        if s != second {
            second = s
            text = HTTPDate.format(s)
        }
        return text
    }

    static func format(_ unix: Int) -> String {
        let days = unix / 86_400, secs = unix % 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
        return
            "\(weekdays[days % 7]), \(two(day)) \(months[month - 1]) \(year) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) GMT"
    }
}
