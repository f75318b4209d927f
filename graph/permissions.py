"""The resource-specific consent (RSC) permissions the Teams app asks for, stated once:
the app manifest (bot/app_package.py) declares them, and installing the app in a
meeting chat through Graph consents to exactly them (consentedPermissionSet).

Least privilege: meeting start/end events and participant joins, nothing else. The bot
does not read the chat (no ChatMessage.Read.Chat: it answers only when @mentioned) and
sends no in-meeting notifications (no OnlineMeetingNotification.Send.Chat: the lead who
starts the walkthrough is the person already looking at its card).
"""

MEETING_RSC_PERMISSIONS: tuple[str, ...] = (
    "OnlineMeeting.ReadBasic.Chat",  # meeting start / end events
    "OnlineMeetingParticipant.Read.Chat",  # participant join events (attendees)
)
