using System;

namespace AzureSiteRecovery.DR.Core.Errors
{
    /// <summary>What a wrapped failure comes down to: the innermost exception says what the network or the server did.</summary>
    internal static class ExceptionChain
    {
        public static Exception Innermost(Exception e)
        {
            while (e.InnerException != null) e = e.InnerException;
            return e;
        }
    }
}
