/* The applets, sorted by name: one line each. */
APPLET(daemonize)
APPLET(diskreport)
APPLET(exitcode)
APPLET(pipe)
APPLET(runner)
APPLET(sweep)
APPLET(timer)
