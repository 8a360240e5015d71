"""Conformance: the official Node client (``postmark`` 5, from the npm registry) against the sandbox.

The client is installed once into ``.venv/node-postmark-5/`` (git-ignored, so reruns are fast) and a
small script drives it. Skipped, saying why, without node 18+ and npm, or when the registry cannot be
reached. Select these tests with ``-m node``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from postmark_admin.sandbox import Sandbox
from postmark_admin.sandbox.records import eastern_now
from tests.conftest import ROOT

pytestmark = pytest.mark.node

PACKAGE = "postmark@5"
INSTALL_DIR = ROOT / ".venv" / "node-postmark-5"
#: npm's error codes for a registry it could not reach.
NETWORK_ERRORS = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT|"
    r"network|proxy|E50[0-9]",
    re.IGNORECASE,
)


def _installed_version(folder: Path) -> str | None:
    try:
        return json.loads((folder / "node_modules" / "postmark" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _install(folder: Path, npm: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_fetch_retries": "1", "npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install {PACKAGE} took over 5 minutes: no way to the npm registry?")
    if done.returncode != 0:
        output = done.stdout + done.stderr
        if NETWORK_ERRORS.search(output):
            pytest.skip(f"npm install {PACKAGE} could not reach the npm registry:\n{output[-600:]}")
        pytest.fail(f"npm install {PACKAGE} failed:\n{output[-2000:]}")


@pytest.fixture(scope="session")
def node_client(tmp_path_factory) -> tuple[str, Path]:
    """``(node, the installed postmark module's folder)``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "The official Node client needs node and npm; this machine lacks "
            + ("node" if node is None else "npm")
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    major = re.match(r"v(\d+)", version)
    if major is None or int(major.group(1)) < 18:
        pytest.skip(f"postmark 5 needs Node 18 or later (it uses the global fetch); this node is {version!r}")
    folder = INSTALL_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = tmp_path_factory.mktemp("node-postmark-5")
    if not (_installed_version(folder) or "").startswith("5."):
        _install(folder, npm)
    installed = _installed_version(folder)
    assert installed is not None and installed.startswith("5."), installed
    return node, folder / "node_modules" / "postmark"


SCRIPT = r"""
"use strict";
const postmark = require(process.env.POSTMARK_JS);
const client = new postmark.ServerClient(process.env.SANDBOX_TOKEN, {
  useHttps: false,
  requestHost: process.env.SANDBOX_HOST,
  timeout: 10,
});
const From = "Shop <shop@example.com>";

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return { name: error.name, code: error.code, statusCode: error.statusCode, message: error.message };
  }
}

async function main() {
  const out = {};
  out.sendEmail = await client.sendEmail({ From, To: "ann@example.com", Subject: "Hi", TextBody: "Hello" });
  out.sendEmailBatch = await client.sendEmailBatch([
    { From, To: "bob@example.com", Subject: "1", HtmlBody: "<p>one</p>" },
    { From, To: "hardbounce@example.com", Subject: "2", TextBody: "two", Tag: "signup" },
    { From, To: "hardbounce-news@example.com", Subject: "3", TextBody: "three", Tag: "news", MessageStream: "broadcast" },
  ]);
  out.sendEmailWithTemplate = await client.sendEmailWithTemplate({
    TemplateAlias: "welcome", TemplateModel: { name: "Ann", product_name: "Shop" }, From, To: "ann@example.com",
  });
  out.sendEmailBatchWithTemplates = await client.sendEmailBatchWithTemplates([
    { TemplateId: 1001, TemplateModel: { action_url: "https://shop.example.com/r" }, From, To: "cy@example.com" },
    { TemplateAlias: "nope", TemplateModel: {}, From, To: "dee@example.com" },
  ]);

  out.bouncesOnBroadcast = await client.getBounces({ count: 10, offset: 0, messageStream: "broadcast", fromDate: process.env.YESTERDAY });
  out.bouncesFromTomorrow = await client.getBounces({ fromDate: process.env.TOMORROW });
  out.bouncesUpToYesterday = await client.getBounces({ toDate: process.env.YESTERDAY, messageStream: "outbound" });
  out.bounces = await client.getBounces();
  const id = out.bouncesOnBroadcast.Bounces[0].ID;
  out.bounce = await client.getBounce(id);
  out.bounceDump = await client.getBounceDump(id);
  out.activated = await client.activateBounce(id);
  out.deliveryStatistics = await client.getDeliveryStatistics();

  out.server = await client.getServer();
  out.streams = await client.getMessageStreams();
  out.broadcastStreams = await client.getMessageStreams({ messageStreamType: "Broadcasts" });
  out.stream = await client.getMessageStream("outbound");

  out.created = await client.createWebhook({
    Url: "https://site.example.com/postmark/",
    MessageStream: "broadcast",
    HttpAuth: { Username: "hook", Password: "s3cret" },
    Triggers: { Bounce: { Enabled: true, IncludeContent: false } },
  });
  out.webhooksOnBroadcast = await client.getWebhooks({ messageStream: "broadcast" });
  out.webhooksOnOutbound = await client.getWebhooks({ messageStream: "outbound" });
  out.webhook = await client.getWebhook(out.created.ID);
  out.edited = await client.editWebhook(out.created.ID, { Triggers: { Delivery: { Enabled: true } } });
  out.deleted = await client.deleteWebhook(out.created.ID);

  // The deliverability desk's calls: message search and details, statistics, suppressions.
  out.outboundToAnn = await client.getOutboundMessages({ count: 10, offset: 0, recipient: "ann@example.com" });
  out.outboundAll = await client.getOutboundMessages();
  out.outboundOnBroadcast = await client.getOutboundMessages({ messageStream: "broadcast", fromDate: process.env.YESTERDAY });
  out.outboundDetails = await client.getOutboundMessageDetails(out.sendEmail.MessageID);
  out.outboundDump = await client.getOutboundMessageDump(out.sendEmail.MessageID);
  out.missingMessage = await failure(client.getOutboundMessageDetails("no-such-message"));
  out.overview = await client.getOutboundOverview({ messageStream: "outbound" });
  out.overviewFromTomorrow = await client.getOutboundOverview({ fromDate: process.env.TOMORROW });
  out.sentCounts = await client.getSentCounts({ fromDate: process.env.YESTERDAY, toDate: process.env.TOMORROW });
  out.bounceCounts = await client.getBounceCounts();
  out.spamCounts = await client.getSpamComplaintsCounts();
  out.trackedCounts = await client.getTrackedEmailCounts();
  out.openCounts = await client.getEmailOpenCounts();
  out.clickCounts = await client.getClickCounts();
  out.badStatsDate = await failure(client.getOutboundOverview({ fromDate: "someday" }));
  out.suppressions = await client.getSuppressions("outbound");
  out.createdSuppressions = await client.createSuppressions("outbound", {
    Suppressions: [{ EmailAddress: "manual@example.com" }, { EmailAddress: "not an address" }],
  });
  out.manualSuppressions = await client.getSuppressions("outbound", { suppressionReason: "ManualSuppression" });
  out.deletedSuppressions = await client.deleteSuppressions("outbound", {
    Suppressions: [{ EmailAddress: "manual@example.com" }, { EmailAddress: "hardbounce@example.com" }],
  });
  out.suppressionsLeft = await client.getSuppressions("outbound");
  out.badSuppressionFilter = await failure(client.getSuppressions("outbound", { origin: "Mars" }));

  out.missingWebhook = await failure(client.getWebhook(out.created.ID));
  out.missingBounce = await failure(client.getBounce(999999));
  out.notEmulated = await failure(client.getEmailOpenPlatformUsage());
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  console.error((error && error.stack) || error);
  process.exit(1);
});
"""


def run_script(node: str, module: Path, sandbox: Sandbox, folder: Path) -> dict:
    script = folder / "drive_sandbox.js"
    script.write_text(SCRIPT)
    today = eastern_now().date()
    env = {
        **os.environ,
        "POSTMARK_JS": str(module),
        "SANDBOX_TOKEN": sandbox.token,
        "SANDBOX_HOST": f"{sandbox.host}:{sandbox.port}",
        "YESTERDAY": (today - dt.timedelta(days=1)).isoformat(),
        "TOMORROW": (today + dt.timedelta(days=1)).isoformat(),
    }
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_official_node_client_against_the_sandbox(node_client, tmp_path):
    node, module = node_client
    with Sandbox() as sandbox:
        out = run_script(node, module, sandbox, tmp_path)
        queries = [request.query for request in sandbox.requests if request.path == "/bounces"]
        messages = sandbox.messages

    # Sending: single, batch (per-message results), template, batch with templates.
    assert (out["sendEmail"]["ErrorCode"], out["sendEmail"]["To"]) == (0, "ann@example.com")
    assert [result["ErrorCode"] for result in out["sendEmailBatch"]] == [0, 0, 0]
    assert out["sendEmailWithTemplate"]["ErrorCode"] == 0
    assert [result["ErrorCode"] for result in out["sendEmailBatchWithTemplates"]] == [0, 1101]
    assert len(messages) == 6

    # The bounce filters arrive in the client's camelCase, and are applied.
    assert {"messageStream", "fromDate"} <= set(queries[0])
    assert [b["Email"] for b in out["bouncesOnBroadcast"]["Bounces"]] == ["hardbounce-news@example.com"]
    assert out["bouncesFromTomorrow"]["TotalCount"] == 0
    assert out["bouncesUpToYesterday"]["TotalCount"] == 0
    assert [b["Email"] for b in out["bounces"]["Bounces"]] == [
        "hardbounce-news@example.com",
        "hardbounce@example.com",
    ]
    assert out["bounce"]["RecordType"] == "Bounce"
    assert out["bounce"]["Details"] in out["bounceDump"]["Body"]
    assert (out["activated"]["Message"], out["activated"]["Bounce"]["Inactive"]) == ("OK", False)
    assert out["deliveryStatistics"]["InactiveMails"] == 1

    assert (out["server"]["DeliveryType"], out["server"]["Name"]) == ("Sandbox", sandbox.server_name)
    assert [s["ID"] for s in out["streams"]["MessageStreams"]] == ["outbound", "broadcast", "inbound"]
    assert [s["ID"] for s in out["broadcastStreams"]["MessageStreams"]] == ["broadcast"]
    assert out["stream"]["MessageStreamType"] == "Transactional"

    # Webhooks CRUD, the list filtered by the client's camelCase messageStream.
    created = out["created"]
    assert (created["MessageStream"], created["Triggers"]["Bounce"]["Enabled"]) == ("broadcast", True)
    assert [hook["ID"] for hook in out["webhooksOnBroadcast"]["Webhooks"]] == [created["ID"]]
    assert out["webhooksOnOutbound"]["Webhooks"] == []
    assert out["webhook"] == created
    assert out["edited"]["Triggers"]["Delivery"]["Enabled"] and out["edited"]["Triggers"]["Bounce"]["Enabled"]
    assert out["deleted"]["ErrorCode"] == 0

    # Errors arrive as the client's typed errors, with Postmark's ErrorCode.
    assert (out["missingWebhook"]["statusCode"], out["missingWebhook"]["code"]) == (422, 1400)
    assert (out["missingBounce"]["statusCode"], out["missingBounce"]["code"]) == (422, 1001)
    assert (out["notEmulated"]["statusCode"], out["notEmulated"]["code"]) == (404, 404)
    assert out["notEmulated"]["message"].startswith("No API endpoint at GET /stats/outbound/opens/platforms")

    # Message search (camelCase filters, the client's default paging), details with events, dump.
    assert [m["MessageID"] for m in out["outboundToAnn"]["Messages"]] == [
        out["sendEmailWithTemplate"]["MessageID"],
        out["sendEmail"]["MessageID"],
    ]
    assert out["outboundAll"]["TotalCount"] == 5  # the outbound stream's five accepted messages
    assert [m["Subject"] for m in out["outboundOnBroadcast"]["Messages"]] == ["3"]
    details = out["outboundDetails"]
    assert (details["TextBody"], details["Status"]) == ("Hello", "Sent")
    assert [event["Type"] for event in details["MessageEvents"]] == ["Delivered"]
    assert "Subject: Hi" in out["outboundDump"]["Body"]
    assert (out["missingMessage"]["statusCode"], out["missingMessage"]["code"]) == (422, 701)

    # Statistics: the overview and the per-day counts.
    assert (out["overview"]["Sent"], out["overview"]["Bounced"]) == (5, 1)
    assert out["overviewFromTomorrow"]["Sent"] == 0
    assert out["sentCounts"]["Sent"] == 6 and len(out["sentCounts"]["Days"]) == 1
    assert out["bounceCounts"]["HardBounce"] == 2
    assert out["spamCounts"] == {"Days": [], "SpamComplaint": 0}
    assert (out["trackedCounts"]["Tracked"], out["openCounts"]["Opens"], out["clickCounts"]["Clicks"]) == (
        0,
        0,
        0,
    )
    assert (out["badStatsDate"]["statusCode"], out["badStatsDate"]["code"]) == (422, 900)

    # Suppressions: the hard bounce on outbound, created, filtered by reason, deleted.
    assert [(s["EmailAddress"], s["SuppressionReason"]) for s in out["suppressions"]["Suppressions"]] == [
        ("hardbounce@example.com", "HardBounce")
    ]
    assert [(r["Status"], r["Message"]) for r in out["createdSuppressions"]["Suppressions"]] == [
        ("Suppressed", None),
        ("Failed", "An invalid email address was provided."),
    ]
    assert [s["EmailAddress"] for s in out["manualSuppressions"]["Suppressions"]] == ["manual@example.com"]
    assert [r["Status"] for r in out["deletedSuppressions"]["Suppressions"]] == ["Deleted", "Deleted"]
    assert out["suppressionsLeft"]["Suppressions"] == []
    assert (out["badSuppressionFilter"]["statusCode"], out["badSuppressionFilter"]["code"]) == (422, 1405)
