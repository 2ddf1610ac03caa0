# chstack stand-in: zkEnv.sh for Debian's ZooKeeper 3.8 scripts (zkServer.sh, zkCli.sh beside this file),
# laid out as the official image is: config in $ZOOCFGDIR (/conf), `--config DIR` as the first arguments
# (upstream's zkEnv.sh contract), logs to the console, JVMFLAGS passed to the JVM by the scripts.
# Sourced by the scripts: `shift` here consumes their arguments.

if [ $# -gt 1 ] && [ "--config" = "$1" ]; then
  shift
  ZOOCFGDIR="$1"
  shift
fi
ZOOCFGDIR="${ZOOCFGDIR:-/conf}"
if [ -f "$ZOOCFGDIR/zookeeper-env.sh" ]; then
  . "$ZOOCFGDIR/zookeeper-env.sh"
fi
if [ -f "$ZOOCFGDIR/java.env" ]; then
  . "$ZOOCFGDIR/java.env"
fi
ZOOCFG="${ZOOCFG:-zoo.cfg}"
ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
ZOO_LOG_DIR="${ZOO_LOG_DIR:-/logs}"
ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
JMXLOCALONLY="${JMXLOCALONLY:-true}"
JAVA="${JAVA:-/usr/bin/java}"

# Debian's zookeeper.jar names its dependencies in its manifest; slf4j-simple is the logging backend
# (Debian ships no logback). Its level is the first field of ZOO_LOG4J_PROP (the 3.4-3.7 variable, e.g.
# INFO,CONSOLE) when set, else ZOO_LOG_LEVEL (the 3.8 image's), else INFO; it writes to stderr only.
CLASSPATH="$ZOOCFGDIR:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar${CLASSPATH:+:$CLASSPATH}"
_zoo_level="${ZOO_LOG4J_PROP:+${ZOO_LOG4J_PROP%%,*}}"
_zoo_level="${_zoo_level:-${ZOO_LOG_LEVEL:-INFO}}"
_zoo_level="$(printf '%s' "${_zoo_level:-INFO}" | tr '[:upper:]' '[:lower:]')"
case "$_zoo_level" in trace|debug|info|warn|error|off) ;; fatal) _zoo_level=error ;; *) _zoo_level=info ;; esac
SERVER_JVMFLAGS="-Dorg.slf4j.simpleLogger.defaultLogLevel=$_zoo_level -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ ${SERVER_JVMFLAGS:-}"
CLIENT_JVMFLAGS="-Dorg.slf4j.simpleLogger.defaultLogLevel=${ZOO_CLIENT_LOG_LEVEL:-warn} ${CLIENT_JVMFLAGS:-}"
unset _zoo_level
