extension ServiceSettings {
    /// The settings as a TOML file that `resolve` reads back to the same settings: what
    /// `lomad serve --print-config` prints, and how the shipped default file was written.
    public var tomlText: String {
        var lines = ["# lomad configuration. Later sources override earlier ones: this file, then command-line",
                     "# flags, then LOMAD_* environment variables (LOMAD_ + the key in capitals, '.' as '_').",
                     "# Keys marked (reload) change on SIGHUP without a restart."]
        var section = ""
        for key in Self.keys {
            let parts = key.name.split(separator: ".", maxSplits: 1).map(String.init)
            let (table, leaf) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            if table != section {
                lines += ["", "[\(table)]"]
                section = table
            } else {
                lines.append("")
            }
            lines.append("# \(key.summary)\(key.reloadable ? " (reload)" : "")")
            lines.append("\(leaf) = \(key.read(self))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
