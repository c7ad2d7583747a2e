using System;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using AzureSiteRecovery.DR.Core.Vault;

namespace AzureSiteRecovery.DR.Core.Tests.Replication
{
    /// <summary>The real vault, with the calls <see cref="fault"/> picks (by method name) failing as a faulted task, as a vault that died or went away would.</summary>
    public class FaultyVault : DispatchProxy
    {
        private IVault inner = null!;
        private Func<string, Exception?> fault = _ => null;

        /// <param name="fault">For a method name, the exception its call fails with; null: the call goes to <paramref name="vault"/>.</param>
        public static IVault Wrap(IVault vault, Func<string, Exception?> fault)
        {
            var proxy = Create<IVault, FaultyVault>();
            ((FaultyVault)(object)proxy).inner = vault;
            ((FaultyVault)(object)proxy).fault = fault;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (fault(targetMethod!.Name) is Exception error)
            {
                var returns = targetMethod.ReturnType;
                return returns.IsGenericType
                    ? typeof(Task).GetMethods().Single(m => m.Name == nameof(Task.FromException) && m.IsGenericMethod).MakeGenericMethod(returns.GetGenericArguments()[0]).Invoke(null, new object[] { error })
                    : Task.FromException(error);
            }
            try
            {
                return targetMethod.Invoke(inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException != null)
            {
                throw ex.InnerException;
            }
        }
    }
}
