"""What the Python bench drivers read of the daemon in /proc (stdlib only)."""
import os


def proc_cpu_s(pid):
    """(user, system) CPU seconds of the process: the split says whether the time goes to
    the daemon's own code or to the kernel's socket work."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime


def vm(pid, key):
    """A /proc/PID/status memory line (VmRSS, VmHWM...) in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0
