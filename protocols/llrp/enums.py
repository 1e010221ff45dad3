"""Enumerated field values of LLRP 1.0.1 (names follow the specification)."""

from __future__ import annotations

from enum import IntEnum


class StatusCode(IntEnum):
    """LLRPStatus.StatusCode (section 14.2.1)."""

    M_Success = 0
    M_ParameterError = 100
    M_FieldError = 101
    M_UnexpectedParameter = 102
    M_MissingParameter = 103
    M_DuplicateParameter = 104
    M_OverflowParameter = 105
    M_OverflowField = 106
    M_UnknownParameter = 107
    M_UnknownField = 108
    M_UnsupportedMessage = 109
    M_UnsupportedVersion = 110
    M_UnsupportedParameter = 111
    P_ParameterError = 200
    P_FieldError = 201
    P_UnexpectedParameter = 202
    P_MissingParameter = 203
    P_DuplicateParameter = 204
    P_OverflowParameter = 205
    P_OverflowField = 206
    P_UnknownParameter = 207
    P_UnknownField = 208
    P_UnsupportedParameter = 209
    A_Invalid = 300
    A_OutOfRange = 301
    R_DeviceError = 401


class ConnectionAttemptStatus(IntEnum):
    Success = 0
    Failed_A_Reader_Initiated_Connection_Already_Exists = 1
    Failed_A_Client_Initiated_Connection_Already_Exists = 2
    Failed_Reason_Other_Than_A_Connection_Already_Exists = 3
    Another_Connection_Attempted = 4


class CapabilitiesRequest(IntEnum):
    """GET_READER_CAPABILITIES.RequestedData."""

    All = 0
    General_Device_Capabilities = 1
    LLRP_Capabilities = 2
    Regulatory_Capabilities = 3
    Air_Protocol_LLRP_Capabilities = 4


class ConfigRequest(IntEnum):
    """GET_READER_CONFIG.RequestedData."""

    All = 0
    Identification = 1
    AntennaProperties = 2
    AntennaConfiguration = 3
    ROReportSpec = 4
    ReaderEventNotificationSpec = 5
    AccessReportSpec = 6
    LLRPConfigurationStateValue = 7
    KeepaliveSpec = 8
    GPIPortCurrentState = 9
    GPOWriteData = 10
    EventsAndReports = 11


class IdentificationType(IntEnum):
    MAC_Address = 0
    EPC = 1


class AirProtocol(IntEnum):
    Unspecified = 0
    EPCGlobalClass1Gen2 = 1


class ROSpecState(IntEnum):
    Disabled = 0
    Inactive = 1
    Active = 2


class ROSpecStartTriggerType(IntEnum):
    Null = 0
    Immediate = 1
    Periodic = 2
    GPI = 3


class ROSpecStopTriggerType(IntEnum):
    Null = 0
    Duration = 1
    GPI_With_Timeout = 2


class AISpecStopTriggerType(IntEnum):
    Null = 0
    Duration = 1
    GPI_With_Timeout = 2
    Tag_Observation = 3


class TagObservationTriggerType(IntEnum):
    Upon_Seeing_N_Tags_Or_Timeout = 0
    Upon_Seeing_No_More_New_Tags_For_Tms_Or_Timeout = 1
    N_Attempts_To_See_All_Tags_In_FOV_Or_Timeout = 2


class ROReportTriggerType(IntEnum):
    None_ = 0
    Upon_N_Tags_Or_End_Of_AISpec = 1
    Upon_N_Tags_Or_End_Of_ROSpec = 2


class AccessReportTriggerType(IntEnum):
    Whenever_ROReport_Is_Generated = 0
    End_Of_AccessSpec = 1


class KeepaliveTriggerType(IntEnum):
    Null = 0
    Periodic = 1


class EventType(IntEnum):
    """EventNotificationState.EventType: which reader events a client wants."""

    Upon_Hopping_To_Next_Channel = 0
    GPI_Event = 1
    ROSpec_Event = 2
    Report_Buffer_Fill_Warning = 3
    Reader_Exception_Event = 4
    RFSurvey_Event = 5
    AISpec_Event = 6
    AISpec_Event_With_Details = 7
    Antenna_Event = 8


class AntennaEventType(IntEnum):
    Antenna_Disconnected = 0
    Antenna_Connected = 1


class ROSpecEventType(IntEnum):
    Start_Of_ROSpec = 0
    End_Of_ROSpec = 1
    Preemption_Of_ROSpec = 2


class AISpecEventType(IntEnum):
    End_Of_AISpec = 0


class RFSurveyEventType(IntEnum):
    Start_Of_RFSurvey = 0
    End_Of_RFSurvey = 1


class AccessSpecState(IntEnum):
    Disabled = 0
    Active = 1


class AccessSpecStopTriggerType(IntEnum):
    Null = 0
    Operation_Count = 1
