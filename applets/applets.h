/* The applets, sorted by name: one line each. A compat name (DESIGN.md
 * "Compat names") answers as the tool an applet replaces: COMPAT(peer,
 * applet) in the same sorted order, its object applet_<peer> beside the
 * applet's code. */
COMPAT(check_disk, diskreport)
APPLET(daemonize)
APPLET(dirsync)
APPLET(diskreport)
APPLET(exitcode)
APPLET(pipe)
APPLET(runner)
APPLET(supervise)
COMPAT(supervisorctl, supervise)
COMPAT(supervisord, supervise)
APPLET(sweep)
COMPAT(timeout, timer)
APPLET(timer)
