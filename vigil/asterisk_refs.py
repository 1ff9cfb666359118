"""Every name Vigil uses in Asterisk's configuration, in one place.

The CTI (contexts for originate and spy, queues, channel variables), the IVR (FastAGI paths) and
the tests of ``asterisk-config/`` import these constants, so a rename is made once and a name
that exists on one side only fails a test instead of a call.
"""

from __future__ import annotations

from typing import Final

# FastAGI: Asterisk connects to Vigil's IVR at agi://<AGI_HOST>:<AGI_PORT>/<path>.
AGI_HOST: Final = "vigil"  # the compose service name
AGI_PORT: Final = 4573
AGI_MAIN: Final = "ivr"  # main line: emergency first, menu 1/2/3/0/9 (docs/ivr.md)
AGI_SUBSCRIBER: Final = "ivr/subscriber"  # direct subscriber-services line (cancel, on test)
AGI_MESSAGE: Final = "ivr/message"  # leave a message (after a long wait in billing)
AGI_PATHS: Final = (AGI_MAIN, AGI_SUBSCRIBER, AGI_MESSAGE)


def agi_url(path: str, host: str = AGI_HOST, port: int = AGI_PORT) -> str:
    """The URL the dialplan passes to ``AGI()`` for one IVR entry point."""
    return f"agi://{host}:{port}/{path}"


# Dialplan contexts (extensions.conf).
CTX_FROM_TRUNK: Final = "from-pstn"  # the SIP trunk's calls arrive here (as in the captures)
CTX_IVR: Final = "vigil-ivr"  # IVR entry points, one extension per AGI path
CTX_QUEUE: Final = "vigil-queue"  # one extension per queue: records, then Queue()
CTX_OUTBOUND: Final = "outbound"  # verification calls and callbacks: Exten = number to dial
CTX_AGENT_PHONES: Final = "agent-phones"  # rings a phone by extension: Local/<ext>@agent-phones
CTX_FROM_AGENTS: Final = "from-agents"  # what agents' phones may dial
CTX_FROM_SUPERVISORS: Final = "from-supervisors"  # what supervisors' phones may dial
CTX_SPY: Final = "supervisor-spy"  # 81/82/83 + extension: listen, whisper, barge
CTX_SPY_RUN: Final = "vigil-spy"  # where those run ChanSpy (E, d; u on VIGIL_SPY_CHANNEL)
CTX_ALARM_LINE: Final = "alarm-line"  # AlarmReceiver()
CTX_RECORD: Final = "vigil-record"  # Gosub that starts MixMonitor
CTX_DIALSTATUS: Final = "vigil-dialstatus"  # hangup handler: VIGIL_DIALSTATUS of a verification
CTX_PARKED: Final = "parkedcalls"  # res_parking's lot (res_parking.conf)
CTX_CONFERENCE: Final = "vigil-conference"  # three-way calls: ConfBridge rooms

# Extensions within those contexts.
IVR_EXTENSIONS: Final = {AGI_MAIN: "main", AGI_SUBSCRIBER: "subscriber", AGI_MESSAGE: "message"}
LINE_SUPPORT: Final = "4000"  # from-pstn: straight into the support queue (captures)
LINE_IVR: Final = "4100"  # from-pstn: the IVR (captures)
LINE_ALARM: Final = "5000"  # from-pstn and alarm-line: the alarm receiver line
PARK_EXTEN: Final = "700"

# Queues (queues.conf); the IVR's menu options lead to these.
QUEUE_SUPPORT: Final = "support"
QUEUE_EMERGENCY: Final = "emergency"  # IVR option 1 and silence, highest weight
QUEUE_BILLING: Final = "billing"  # IVR option 3
QUEUES: Final = (QUEUE_SUPPORT, QUEUE_EMERGENCY, QUEUE_BILLING)

# Supervisor actions: Vigil originates the supervisor's phone into CTX_SPY with
# Exten = prefix + agent extension; the dialplan runs ChanSpy with the mode's options plus
# SPY_ALWAYS (E: end with the spied channel; d: keys 4/5/6 switch mode), and u when
# VAR_SPY_CHANNEL names the agent's channel. cti.commands.SPY_PREFIXES says the same.
SPY_PREFIXES: Final = {"listen": "81", "whisper": "82", "barge": "83"}
SPY_OPTIONS: Final = {"listen": "q", "whisper": "qw", "barge": "qB"}
SPY_ALWAYS: Final = "dE"


# Three-way calls (cti/conference.py): CTX_CONFERENCE runs ConfBridge(vigil-<room>) with the
# agent's user profile on A<room> (marked: the room ends with the agent) and the parties' on
# P<room> (end_marked); confbridge.conf defines the profiles.
CONFERENCE_AGENT_PREFIX: Final = "A"
CONFERENCE_PARTY_PREFIX: Final = "P"
CONFERENCE_BRIDGE_PROFILE: Final = "vigil-bridge"
CONFERENCE_AGENT_PROFILE: Final = "vigil-agent"
CONFERENCE_PARTY_PROFILE: Final = "vigil-party"


def spy_extension(mode: str, agent_extension: str) -> str:
    """The extension in :data:`CTX_SPY` for a listen / whisper / barge on one agent."""
    return SPY_PREFIXES[mode] + agent_extension


# The demo users' phones (crm.seed; pjsip endpoints are rendered per user by
# vigil.asterisk_secrets) and the trunk endpoint.
AGENT_EXTENSIONS: Final = ("1001", "1002")
SUPERVISOR_EXTENSIONS: Final = ("2001",)
TRUNK_ENDPOINT: Final = "trunk"

# AMI.
AMI_USER: Final = "vigil"
# Channel variables: only VIGIL_* (and MixMonitor's) reach Vigil over AMI (manager.conf filters
# every other VarSet), so whatever the dialplan or the IVR tells the CTI is named VIGIL_*.
VAR_PREFIX: Final = "VIGIL_"
VAR_ACCOUNT_ID: Final = "VIGIL_ACCOUNT_ID"  # set by the IVR before queueing: screen pop
VAR_IVR_PATH: Final = "VIGIL_IVR_PATH"  # how the caller got to the queue
VAR_QUEUE: Final = "VIGIL_QUEUE"  # set by the IVR: the dialplan queues the caller there
VAR_DID: Final = "VIGIL_DID"  # the number the caller dialed
VAR_INCIDENT_ID: Final = "VIGIL_INCIDENT_ID"  # set on a verification call's Originate
# "yes": the agent's phone answers by itself; set it as ``_VIGIL_AUTOANSWER`` on the Originate
# so that the phone's channel (one Dial below the Local channel) inherits it, where the pre-dial
# handler reads it, and nothing dialled after that does
VAR_AUTOANSWER: Final = "VIGIL_AUTOANSWER"
VAR_DIALSTATUS: Final = "VIGIL_DIALSTATUS"  # outbound: Dial()'s result for the verification
VAR_SPY_CHANNEL: Final = "VIGIL_SPY_CHANNEL"  # set by Vigil: the one channel to spy on
VAR_SPY_MODE: Final = "VIGIL_SPY_MODE"  # set by the dialplan: listen / whisper / barge
VAR_RECORDING: Final = "VIGIL_RECORDING"  # file name of the call's MixMonitor recording
# VarSet names keep the inheritance underscores (``__VIGIL_DID``), so those forms are kept too.
KEPT_VARSET_PREFIXES: Final = (VAR_PREFIX, "_" + VAR_PREFIX, "__" + VAR_PREFIX, "MIXMONITOR_")

# Files and directories shared between the Asterisk and Vigil containers.
RECORDINGS_DIR: Final = "/var/spool/asterisk/monitor"
ALARM_SPOOL_DIR: Final = "/var/spool/asterisk/alarm"
QUEUE_LOG: Final = "/var/log/asterisk/queue_log"
GENERATED_DIR: Final = "vigil-generated"  # under /etc/asterisk, see vigil.asterisk_secrets


def not_prefixed_regex(prefixes: tuple[str, ...] = KEPT_VARSET_PREFIXES) -> str:
    """A POSIX extended regex matching names that start with none of ``prefixes``.

    Asterisk's filters have no negative look-ahead, so "every VarSet except VIGIL_*" is written
    as the complement: a name fails to start with ``VIGIL_`` when it ends early or differs at
    some position of the prefix. Used in manager.conf's VarSet exclusion filter.
    """
    branches: set[str] = set()
    firsts = sorted({p[0] for p in prefixes})
    branches.add("[^" + "".join(firsts) + "]")
    for prefix in prefixes:
        for i in range(1, len(prefix)):
            head = prefix[:i]
            # only when no other prefix continues this head with the same character
            nexts = sorted({p[i] for p in prefixes if p.startswith(head) and len(p) > i})
            branches.add(f"{head}([^{''.join(nexts)}]|$)")
    return "^(" + "|".join(sorted(branches)) + ")"
