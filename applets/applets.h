/* The applets, sorted by name: one line each. */
APPLET(exitcode)
APPLET(pipe)
