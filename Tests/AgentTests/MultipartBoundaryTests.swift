import Testing

@testable import Agent

@Suite("multipart/form-data boundary from Content-Type")
struct MultipartBoundaryTests {
    @Test("JSON and other types are not multipart, in any case and spacing")
    func notMultipart() throws {
        for type in ["application/json", "APPLICATION/JSON", "application/json; charset=utf-8", "text/plain", "a", "",
                     "multipart/mixed; boundary=x", " application/json", "\u{00A0}application/json", "multipart", "multipartx/form-data"] {
            #expect(try MultipartForm.boundary(contentType: type) == nil, "\(type)")
        }
    }

    @Test("multipart/form-data in any case, with leading space, gives its boundary")
    func multipart() throws {
        #expect(try MultipartForm.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(try MultipartForm.boundary(contentType: "MULTIPART/Form-Data; boundary=\"q r\"") == "q r")
        #expect(try MultipartForm.boundary(contentType: "  multipart/form-data;boundary=x1") == "x1")
        #expect(try MultipartForm.boundary(contentType: "\u{00A0}Multipart/form-data; charset=utf-8; BOUNDARY=z") == "z")
        #expect(throws: AgentError.self) { try MultipartForm.boundary(contentType: "Multipart/Form-Data") }
    }

    @Test("the quick answer is only ever 'not multipart' for what the full reading also refuses")
    func quickAnswerAgrees() {
        #expect(MultipartForm.isSurelyNotMultipart("application/json"))
        #expect(!MultipartForm.isSurelyNotMultipart("mULTIPART/form-data; boundary=x"))
        #expect(!MultipartForm.isSurelyNotMultipart(" multipart/form-data"))
        #expect(!MultipartForm.isSurelyNotMultipart("mültipart/form-data"))
        #expect(MultipartForm.isSurelyNotMultipart("multipart"))
    }
}
