// Package browser holds the real-browser check of the HTML disarmer
// (issue 7): headless Chromium loads a hostile message's HTML, disarmed
// and not, from a loopback server, with every other request sent to a
// logging proxy; the test asserts that the disarmed page ran no script
// and tried no remote request, and that the original did both (so that
// the test can fail).
package browser
