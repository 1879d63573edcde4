import PodAgentExtras
import Testing

@Suite("Duration in seconds")
struct DurationTests {
    @Test func secondsAndMillisecondsKeepTheFraction() {
        #expect(Duration.seconds(2).inSeconds == 2)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.nanoseconds(1).inSeconds == 1e-9)
        #expect(Duration.microseconds(250).inMilliseconds == 0.25)
        #expect((Duration.seconds(-3) + .milliseconds(500)).inSeconds == -2.5)
    }

    @Test func numbersPeopleGiveAreClamped() {
        #expect(Duration.seconds(clamping: 1.25) == .milliseconds(1250))
        #expect(Duration.seconds(clamping: -4) == .zero)
        #expect(Duration.seconds(clamping: .nan) == .zero)
        #expect(Duration.seconds(clamping: .infinity) == .zero)
        #expect(Duration.seconds(clamping: 1e300) == .seconds(3_155_760_000))
    }
}
