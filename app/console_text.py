"""Every label of the console, in English and Hindi.

A label missing in one language is a test failure, not a blank on the screen. Codes
that come from the data (states, risk levels, outcomes, timeline entries) have a
label each too; anything unknown is shown as its code.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "hi")

LABELS: dict[str, tuple[str, str]] = {
    # Frame
    "title": ("Red flag console", "रेड फ़्लैग कंसोल"),
    "skip": ("Skip to the alerts", "अलर्ट पर जाएँ"),
    "other_language": ("हिन्दी", "English"),
    "signed_in_as": ("Signed in:", "साइन इन:"),
    "all_rooms": ("all rooms (command centre)", "सभी कक्ष (कमांड सेंटर)"),
    "sign_out": ("Sign out", "साइन आउट"),
    # Sign-in
    "sign_in": ("Sign in", "साइन इन करें"),
    "sign_in_help": (
        "Enter your control room's key. The session ends after {hours} hours.",
        "अपने नियंत्रण कक्ष की कुंजी डालें। सत्र {hours} घंटे बाद समाप्त होगा।",
    ),
    "key": ("Control room key", "नियंत्रण कक्ष कुंजी"),
    "officer": (
        "Your name or badge number (shown with what you do)",
        "आपका नाम या बैज नंबर (आपकी कार्रवाई के साथ दिखेगा)",
    ),
    "key_wrong": ("That key is not valid.", "यह कुंजी मान्य नहीं है।"),
    "too_many_tries": (
        "Too many wrong keys from here. Wait five minutes, or call the command centre.",
        "यहाँ से बहुत बार गलत कुंजी डाली गई। पाँच मिनट रुकें, या कमांड सेंटर को फ़ोन करें।",
    ),
    "form_expired": (
        "The form had expired. Please try again.",
        "फ़ॉर्म की अवधि समाप्त हो गई थी। कृपया फिर से प्रयास करें।",
    ),
    # Board
    "open_alerts": ("Open alerts", "खुले अलर्ट"),
    "no_open_alerts": ("No open alerts.", "कोई खुला अलर्ट नहीं।"),
    "board_help": (
        "Unacknowledged first, then by risk, newest first. Updates by itself.",
        "पहले बिना स्वीकृति वाले, फिर जोखिम के अनुसार, नए पहले। अपने आप अद्यतन होता है।",
    ),
    "updated": ("Updated", "अद्यतन"),
    "sound_on": ("Sound: on", "आवाज़: चालू"),
    "sound_off": (
        "Sound: off (press to turn on)",
        "आवाज़: बंद (चालू करने के लिए दबाएँ)",
    ),
    "new_alert": ("New alert", "नया अलर्ट"),
    "connection_lost": (
        "Connection lost: retrying. Call the command centre if this lasts.",
        "कनेक्शन टूटा: फिर से कोशिश हो रही है। देर हो तो कमांड सेंटर को फ़ोन करें।",
    ),
    "reference": ("Reference", "संदर्भ"),
    "district": ("District", "ज़िला"),
    "police_district": ("Police district", "पुलिस ज़िला"),
    "risk": ("Risk", "जोखिम"),
    "age": ("Waiting", "प्रतीक्षा"),
    "minutes": ("min", "मिनट"),
    "step": ("Step", "चरण"),
    "state": ("State", "स्थिति"),
    "acknowledged_by": ("Acknowledged by", "स्वीकार किया"),
    "rooms": ("Rooms", "कक्ष"),
    "unplaced": ("Unplaced", "स्थान अज्ञात"),
    "test": ("TEST", "परीक्षण"),
    "undelivered": ("not delivered", "नहीं पहुँचा"),
    # Alert page
    "back": ("Back to the board", "बोर्ड पर वापस"),
    "alert": ("Alert", "अलर्ट"),
    "received_at": ("Received (IST)", "प्राप्त (IST)"),
    "person": ("Person", "व्यक्ति"),
    "name": ("Name", "नाम"),
    "username": ("Handle", "हैंडल"),
    "account_id": ("Account", "खाता"),
    "profile": ("Profile", "प्रोफ़ाइल"),
    "age_band": ("Age band", "आयु वर्ग"),
    "post": ("Post", "पोस्ट"),
    "excerpt": ("Excerpt", "अंश"),
    "post_link": ("Link to the post", "पोस्ट का लिंक"),
    "kind": ("Kind", "प्रकार"),
    "language": ("Language", "भाषा"),
    "contact": ("Contact", "संपर्क"),
    "phone": ("Phone", "फ़ोन"),
    "email": ("Email", "ईमेल"),
    "location_given": (
        "Location as the platform gave it",
        "प्लेटफ़ॉर्म द्वारा बताया गया स्थान",
    ),
    "placement": ("Placement", "निर्धारित स्थान"),
    "confidence": ("Confidence", "विश्वास"),
    "flags": ("Flags", "संकेत"),
    "candidates": ("Candidates", "संभावित ज़िले"),
    "route": ("Route", "मार्ग"),
    "nothing_given": ("Nothing given.", "कुछ नहीं बताया गया।"),
    "timeline": ("Timeline", "घटनाक्रम"),
    "when": ("Time (IST)", "समय (IST)"),
    "what": ("What happened", "क्या हुआ"),
    "who": ("By", "किसके द्वारा"),
    "details": ("Details", "विवरण"),
    "actions": ("Actions", "कार्रवाई"),
    "acknowledge": ("Acknowledge: we have it", "स्वीकार करें: हमने ले लिया"),
    "unacknowledge": (
        "Unacknowledge: escalate again",
        "स्वीकृति वापस लें: फिर से एस्केलेट करें",
    ),
    "resolve": ("Resolve", "निपटाएँ"),
    "outcome": ("Outcome", "परिणाम"),
    "choose_outcome": ("Choose an outcome", "परिणाम चुनें"),
    "note": ("Note (optional)", "टिप्पणी (वैकल्पिक)"),
    "resolution": ("Resolution", "निपटान"),
    "done_acknowledge": (
        "Acknowledged. Escalation stopped.",
        "स्वीकार किया गया। एस्केलेशन रुका।",
    ),
    "done_unacknowledge": (
        "Unacknowledged. Escalation resumes now.",
        "स्वीकृति वापस ली गई। एस्केलेशन अभी फिर शुरू।",
    ),
    "done_resolve": ("Resolved.", "निपटाया गया।"),
    "already_resolved": (
        "This alert is already resolved.",
        "यह अलर्ट पहले ही निपटाया जा चुका है।",
    ),
    "not_acknowledged": (
        "This alert is not acknowledged.",
        "यह अलर्ट स्वीकृत नहीं है।",
    ),
    "outcome_invalid": ("Choose an outcome first.", "पहले परिणाम चुनें।"),
    "note_invalid": ("The note is too long.", "टिप्पणी बहुत लंबी है।"),
    "not_found": (
        "No such alert for this control room.",
        "इस नियंत्रण कक्ष के लिए ऐसा कोई अलर्ट नहीं।",
    ),
    # States
    "state_received": ("Received", "प्राप्त"),
    "state_routed": ("Routed", "भेजा गया"),
    "state_notifying": ("Notifying", "सूचना जारी"),
    "state_acknowledged": ("Acknowledged", "स्वीकृत"),
    "state_resolved": ("Resolved", "निपटाया गया"),
    # Risk levels
    "risk_imminent": ("Imminent", "तत्काल"),
    "risk_high": ("High", "उच्च"),
    "risk_medium": ("Medium", "मध्यम"),
    "risk_low": ("Low", "निम्न"),
    "risk_unknown": ("Unknown", "अज्ञात"),
    "category_suicide": ("suicide", "आत्महत्या"),
    "category_self_harm": ("self-harm", "आत्म-क्षति"),
    # Outcomes
    "outcome_reached_safe": ("Reached, safe", "पहुँचे, सुरक्षित"),
    "outcome_hospitalised": ("Hospitalised", "अस्पताल में भर्ती"),
    "outcome_not_found": ("Not found", "नहीं मिले"),
    "outcome_wrong_location": ("Wrong location", "गलत स्थान"),
    "outcome_out_of_jurisdiction": (
        "Out of jurisdiction",
        "क्षेत्राधिकार से बाहर",
    ),
    "outcome_false_positive": ("False positive", "गलत चेतावनी"),
    "outcome_duplicate": ("Duplicate", "दोहराव"),
    "outcome_other": ("Other", "अन्य"),
    # Timeline entries
    "event_received": ("Received from the platform", "प्लेटफ़ॉर्म से प्राप्त"),
    "event_placed": ("Placed", "स्थान निर्धारित"),
    "event_routed": ("Routed", "कक्ष को भेजा गया"),
    "event_escalation_step": ("Escalation step", "एस्केलेशन चरण"),
    "event_step_failed": ("Step failed: escalating", "चरण विफल: आगे एस्केलेट"),
    "event_delivery_attempt": ("Delivery attempt", "भेजने का प्रयास"),
    "event_delivery_report": ("Delivery report", "डिलीवरी रिपोर्ट"),
    "event_acknowledged": ("Acknowledged", "स्वीकार किया गया"),
    "event_unacknowledged": ("Unacknowledged", "स्वीकृति वापस ली गई"),
    "event_handover": ("Shift handover", "पाली हस्तांतरण"),
    "event_resolved": ("Resolved", "निपटाया गया"),
}


def translator(language: str) -> Callable[..., str]:
    """``t(key, **values)`` in one language; an unknown key comes back as itself."""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        pair = LABELS.get(key)
        if pair is None:
            return key
        text = pair[index]
        return text.format(**values) if values else text

    return t


def coded(t: Callable[..., str], prefix: str, code: str | None) -> str:
    """The label of a code from the data (``state_notifying``), or the code."""
    if code is None:
        return "-"
    label = t(f"{prefix}_{code}")
    return code if label == f"{prefix}_{code}" else label
