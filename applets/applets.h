/* The applets, sorted by name: one line each. */
APPLET(daemonize)
APPLET(dirsync)
APPLET(diskreport)
APPLET(exitcode)
APPLET(pipe)
APPLET(runner)
APPLET(sweep)
APPLET(timer)
