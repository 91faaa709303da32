/// The document as it is being read: tables are references so headers and dotted keys can reach
/// back into them, and each remembers how it was made, which decides what may still extend it
/// (TOML 1.0: a table is defined once, by a header or by dotted keys, never both; an inline table
/// or a static array is complete as written).
final class TOMLTree {
    final class Table {
        enum Origin {
            /// Made on the way to a deeper header (`[a.b]` makes `a`); `[a]` may still define it,
            /// or dotted keys add to it.
            case onHeaderPath
            /// Defined by its own `[header]`.
            case header
            /// Made by a dotted key (`a.b = 1` makes `a`); later dotted keys may add to it.
            case dottedKey
            /// One element of an array of tables (`[[a]]`).
            case arrayElement
        }

        var origin: Origin
        var keys: [String] = []
        var entries: [String: Entry] = [:]

        init(_ origin: Origin) { self.origin = origin }

        func set(_ key: String, _ entry: Entry) {
            if entries[key] == nil { keys.append(key) }
            entries[key] = entry
        }

        /// The finished table, in the order keys were first written.
        var value: TOMLTable {
            var table = TOMLTable()
            for key in keys {
                switch entries[key] {
                case .value(let value): table[key] = value
                case .table(let nested): table[key] = .table(nested.value)
                case .tables(let elements): table[key] = .array(elements.map { .table($0.value) })
                case nil: break
                }
            }
            return table
        }
    }

    enum Entry {
        /// A scalar, a static array or an inline table: sealed.
        case value(TOMLValue)
        case table(Table)
        case tables([Table])
    }

    /// Why a key cannot be used, to be reported at the key's position.
    struct Conflict: Error {
        let reason: String
    }

    let root = Table(.header)

    /// The table a `[header]` (or `[[header]]` when `appending`) opens, creating what it needs.
    func open(_ path: [String], appending: Bool) throws(Conflict) -> Table {
        var table = root
        for (index, key) in path.enumerated() {
            let name = path[...index].joined(separator: ".")
            let last = index == path.count - 1
            switch table.entries[key] {
            case nil:
                let created = Table(last ? (appending ? .arrayElement : .header) : .onHeaderPath)
                table.set(key, last && appending ? .tables([created]) : .table(created))
                table = created
            case .table(let existing):
                if last {
                    if appending { throw Conflict(reason: "[[\(name)]]: \(name) is already a table, not an array of tables") }
                    guard existing.origin == .onHeaderPath else {
                        throw Conflict(reason: "table [\(name)] is defined twice"
                                       + (existing.origin == .dottedKey ? " (first by dotted keys)" : ""))
                    }
                    existing.origin = .header
                }
                table = existing
            case .tables(let elements):
                if last {
                    guard appending else { throw Conflict(reason: "[\(name)]: \(name) is an array of tables; add to it with [[\(name)]]") }
                    let created = Table(.arrayElement)
                    table.set(key, .tables(elements + [created]))
                    table = created
                } else {
                    guard let current = elements.last else { throw Conflict(reason: "\(name) is an empty array of tables") }
                    table = current
                }
            case .value(let value):
                throw Conflict(reason: "\(name) already holds \(article(value.typeName)) \(value.typeName), which cannot be extended")
            }
        }
        return table
    }

    /// Sets `path = value` relative to `table`, making the tables a dotted key names.
    func assign(_ path: [String], _ value: TOMLValue, in table: Table) throws(Conflict) {
        var current = table
        for (index, key) in path.enumerated() {
            let name = path[...index].joined(separator: ".")
            if index == path.count - 1 {
                guard current.entries[key] == nil else { throw Conflict(reason: "key \(name) is defined twice") }
                current.set(key, .value(value))
                return
            }
            switch current.entries[key] {
            case nil:
                let created = Table(.dottedKey)
                current.set(key, .table(created))
                current = created
            case .table(let existing) where existing.origin == .dottedKey || existing.origin == .onHeaderPath:
                // A table only a deeper header made may take dotted keys; after that, as one made
                // by dotted keys, no [header] may define it (as tomllib reads TOML 1.0).
                existing.origin = .dottedKey
                current = existing
            case .table:
                throw Conflict(reason: "dotted key \(path.joined(separator: ".")) adds to table \(name), which a [header] defines")
            case .tables:
                throw Conflict(reason: "dotted key \(path.joined(separator: ".")) adds to \(name), an array of tables")
            case .value(let value):
                throw Conflict(reason: "\(name) already holds \(article(value.typeName)) \(value.typeName), which cannot be extended")
            }
        }
    }

    private func article(_ word: String) -> String {
        word.first.map { "aeiou".contains($0) } == true ? "an" : "a"
    }
}
