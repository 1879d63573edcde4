import HTTPTypes

extension HTTPFields {
    /// The same as `self[name]`: the field's value, the values of all its occurrences joined when it
    /// occurs more than once, nil when it does not occur. The subscript joins even a single
    /// occurrence into a new string (a lazy join and its allocations on each of the half-dozen
    /// header lookups of every request); here one occurrence is returned as it is.
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
