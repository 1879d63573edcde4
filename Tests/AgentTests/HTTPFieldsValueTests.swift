import HTTPTypes
import Testing

@testable import Agent

@Suite("HTTPFields.value: the subscript's answer without joining a single field")
struct HTTPFieldsValueTests {
    @Test("absent, once, several times (joined as the subscript joins them), cookies, any case of the name")
    func sameAsSubscript() throws {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .authorization, value: "Bearer abc"))
        fields.append(HTTPField(name: .accept, value: "a/b"))
        fields.append(HTTPField(name: .accept, value: "c/d"))
        fields.append(HTTPField(name: .cookie, value: "x=1"))
        fields.append(HTTPField(name: .cookie, value: "y=2"))
        let custom = try #require(HTTPField.Name("X-Request-Id"))
        fields.append(HTTPField(name: try #require(HTTPField.Name("x-REQUEST-id")), value: "r1"))
        for name in [HTTPField.Name.authorization, .accept, .cookie, .contentType, custom] {
            #expect(fields.value(name) == fields[name], "\(name)")
        }
        #expect(fields.value(.authorization) == "Bearer abc")
        #expect(fields.value(.accept) == "a/b, c/d")
        #expect(fields.value(.contentType) == nil)
        #expect(fields.value(custom) == "r1")
    }
}
