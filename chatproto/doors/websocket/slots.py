"""The names autobahn and Twisted set on a WebSocket connection, for its C{__slots__}.

autobahn's protocol keeps about seventy attributes per connection in the
instance's dict (1.5 KiB a connection); in slots they take 8 bytes each
(docs/performance.md, "Third pass"). A name missing here would land in the
dict again: C{tests/test_websocket_upgrade.py} runs connections through their
whole life and checks that none does.
"""

from __future__ import annotations

from typing import Final

#: What autobahn's server and common protocol code (autobahn 26.10) and Twisted's
#: protocol set on an instance; not the options, which the door's protocol class
#: holds as class attributes (C{trackTimings} among them).
LIBRARY_SLOTS: Final = (
    # Twisted's protocol
    "connected",
    "factory",
    "transport",
    # autobahn's observable mix-in
    "_results",
    "_valid_events",
    # the connection's state, buffers and counters
    "_isMessageCompressed",
    "_perMessageCompress",
    "_transport_details",
    "data",
    "is_closed",
    "is_open",
    "peer",
    "send_queue",
    "send_state",
    "state",
    "trackedTimings",
    "trafficStats",
    "triggered",
    # the upgrade
    "_wskey",
    "http_headers",
    "http_request_data",
    "http_request_host",
    "http_request_params",
    "http_request_path",
    "http_request_uri",
    "http_response_data",
    "http_status_line",
    "websocket_extensions",
    "websocket_extensions_in_use",
    "websocket_origin",
    "websocket_protocol_in_use",
    "websocket_protocols",
    "websocket_version",
    # frames and messages received
    "control_frame_data",
    "current_frame",
    "current_frame_masker",
    "frame_data",
    "frame_length",
    "inside_message",
    "message_data",
    "message_data_total_length",
    "message_is_binary",
    "utf8validateIncomingCurrentMessage",
    "utf8validateLast",
    "utf8validator",
    "wasMaxFramePayloadSizeExceeded",
    "wasMaxMessagePayloadSizeExceeded",
    # messages sent
    "send_compressed",
    "send_message_frame_length",
    "send_message_frame_mask",
    "send_message_frame_masker",
    "send_message_opcode",
    # pings and timers
    "autoPingPending",
    "autoPingPendingCall",
    "autoPingPendingSent",
    "autoPingPendingSeq",
    "autoPingTimeoutCall",
    "closeHandshakeTimeoutCall",
    "openHandshakeTimeoutCall",
    "serverConnectionDropTimeoutCall",
    # the close
    "closedByMe",
    "droppedByMe",
    "failedByMe",
    "localCloseCode",
    "localCloseReason",
    "remoteCloseCode",
    "remoteCloseReason",
    "wasClean",
    "wasCloseHandshakeTimeout",
    "wasNotCleanReason",
    "wasOpenHandshakeTimeout",
    "wasServerConnectionDropTimeout",
    "wasServingFlashSocketPolicyFile",
)
