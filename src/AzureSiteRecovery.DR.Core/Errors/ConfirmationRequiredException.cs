using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>
    /// A change that asks for confirmation in a session that cannot prompt (a runbook, pwsh
    /// -NonInteractive): nothing was changed; the message names the switch that confirms in the command.
    /// </summary>
    public sealed class ConfirmationRequiredException : DRException
    {
        public ConfirmationRequiredException(string command, string target, string action, Exception? inner = null)
            : base("ConfirmationRequired", FailureKind.InvalidArgument, target,
                $"{command} asks to confirm '{action}' on {target}, but this session cannot prompt (a runbook, or pwsh -NonInteractive); nothing was changed. " +
                $"Confirm in the command itself with -Confirm:$false (for example: {command} ... -Confirm:$false).", inner)
        {
        }
    }
}
