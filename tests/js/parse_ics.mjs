// Parse an iCalendar document from stdin with ical.js and print its events as JSON,
// with times converted to UTC the way a client would show them.
import ICAL from "ical.js";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const calendar = new ICAL.Component(ICAL.parse(input));
  const events = calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      summary: event.summary,
      start: event.startDate.toJSDate().toISOString(),
      end: event.endDate.toJSDate().toISOString(),
      status: component.getFirstPropertyValue("status"),
      sequence: event.sequence,
      description: event.description,
      location: event.location,
    };
  });
  process.stdout.write(JSON.stringify({
    name: calendar.getFirstPropertyValue("x-wr-calname"),
    refresh: String(calendar.getFirstPropertyValue("refresh-interval")),
    events,
  }));
});
